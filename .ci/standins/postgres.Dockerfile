# CI stand-in for the official `postgres` image, from Debian's postgresql package (the CI
# machine reaches no registry). It honours what deploy/compose.yaml uses of the official one:
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start, data in
# /var/lib/postgresql/data, password logins over the network, pg_isready on the PATH.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data \
    && chmod 700 /var/lib/postgresql/data \
    && ln -s "$(ls -d /usr/lib/postgresql/*/bin)" /usr/lib/postgresql/bin
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
