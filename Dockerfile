# simrelay's container image: `docker build -t simrelay .` (docs/deploy.md).
# Two stages: the first builds a virtual environment from wheels; the final one copies only
# that environment onto a fresh slim base, so no compiler, pip cache or source tree ships.
# Every compiled dependency (uvloop, httptools, asyncpg, orjson, pydantic-core, argon2-cffi,
# aiohttp) has manylinux wheels for amd64 and arm64, so neither stage needs build tools.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# strip(1), for this stage only: the wheels' extension modules carry their symbols (uvloop
# alone 14 MB); stripped, the environment shrinks from 143 to about 100 MB.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
# python3 rather than python: the same line works on Debian's python3 as on the official image.
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The libraries auditwheel vendors (*.libs/) are left alone: strip can corrupt files that
# patchelf rewrote. The import line fails the build if stripping broke a module.
RUN /opt/venv/bin/pip install --no-compile . \
    && /opt/venv/bin/pip uninstall -y -q pip setuptools \
    && find /opt/venv -name '*.so' -not -path '*.libs/*' -exec strip --strip-unneeded {} + \
    && /opt/venv/bin/python -c "import simrelay.app, simrelay.cli, uvloop, httptools, asyncpg, \
orjson, pydantic_core, argon2, aiohttp, greenlet, yaml, websockets, multidict, yarl" \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.11-slim
# A fixed uid/gid so that a bind-mounted data directory can be chowned to it on the host.
RUN groupadd --system --gid 10001 simrelay \
    && useradd --system --uid 10001 --gid simrelay --home-dir /data --shell /usr/sbin/nologin simrelay \
    && mkdir /data && chown simrelay:simrelay /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SIMRELAY_DATA_DIR=/data
USER simrelay
WORKDIR /data
# The SQLite database, the generated secret key and the quick-start token live here.
VOLUME ["/data"]
EXPOSE 8000
# slim has no curl: ask /healthz with the standard library; a non-2xx answer raises.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["simrelay"]
# Other commands run the same way: `docker run ... simrelay-image db upgrade`.
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
