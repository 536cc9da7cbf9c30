"""Latency of GET /v1/sms?limit=100&search=... on one account holding 1,000,000 SMS.

    python bench/search.py                        # fill both databases (minutes), then measure
    python bench/search.py --reuse                # measure on the databases filled last time
    python bench/search.py --db sqlite --reuse --requests 50 --wrk-duration 3

Fill: the real schema (`simrelay db upgrade`), an account and API key made with the CLI, then
`--rows` messages inserted directly with SQL, row for row what the app writes (ObjectID-like ids
ascending with time_create, search_text made by the app's own simrelay.sms.search.search_text
(casefold(message) + separator + phone), status spread over
0..5, deleted_at NULL). Texts are generated SMS in Russian and English (codes, orders, payments,
deliveries, promo codes, random tokens, phone numbers) from a fixed seed, with a few words planted
in a known number of rows so that the search terms have a known selectivity. SQLite: one
executemany transaction (the insert trigger queues each row for the FTS5 index), then the queue
indexed into messages_fts as the server's indexer would. PostgreSQL: COPY (asyncpg) with the
secondary indexes dropped and recreated from their own definitions, then VACUUM ANALYZE.
The databases stay in --data-dir (SQLite) and in the PostgreSQL database simrelay_search.

Measure: `simrelay serve` (1 worker, rate limit and access log off); per term a few warm-up
requests, then --requests sequential requests on one keep-alive connection (p50/p99/max) and a
wrk run at c=--wrk-conns (throughput). total_records is checked against the count computed while
generating. Terms whose p99 exceeds --slow-ms get the plans of the two statements the app runs
(count + page): EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import http.client
import itertools
import json
import random
import secrets
import shutil
import signal
import sqlite3
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchlib as bl

EMAIL = "search@simrelay.localhost"
PG_DATABASE = "simrelay_search"
SEED = 20261127
BATCH = 50_000
COLUMNS = (
    "id",
    "account_id",
    "phone_number",
    "message",
    "status",
    "callback_id",
    "requested_device_id",
    "device_id",
    "to_sim",
    "time_create",
    "search_text",
    "deleted_at",
)
STATUS_WEIGHTS = (5, 2, 15, 5, 65, 8)
"""Share (%) of statuses 0..5: most old SMS are delivered."""

# --- the terms -----------------------------------------------------------------------------

# (key, label, planted per 1,000,000 rows, spellings planted into the text)
PLANTED = (
    ("rare", "гиппопотам", 10, ("гиппопотам", "Гиппопотам")),
    ("medium", "абонемент", 1_000, ("абонемент", "Абонемент", "АБОНЕМЕНТ")),
    ("common", "бонус", 100_000, ("бонус", "Бонус", "БОНУС")),
    ("cyrillic_case", "москва", 10_000, ("Москва", "москва")),
    ("none", "квазиштиль", 0, ()),
)


SEARCH_COUNT_CAP = 10_000
"""The contract: a search's total_records is exact up to this, then this with the header
`Total-Records-Relation: gte`."""


@dataclass
class Term:
    key: str
    kind: str
    search: str
    page: int = 1
    counts_as: str = ""
    """The key whose count this term shares (another page of the same search)."""
    expected: int = 0
    """Matches, counted while filling."""

    @property
    def answer(self) -> tuple[int, str]:
        """The total_records and Total-Records-Relation the contract asks for."""
        if self.search and self.expected > SEARCH_COUNT_CAP:
            return SEARCH_COUNT_CAP, "gte"
        return self.expected, "eq"


def terms_for(phone: str) -> list[Term]:
    """The terms; `phone` is a stored number (digits) with a few hundred SMS."""
    phone_fragment = phone[4:11]
    return [
        Term("rare", "rare word (~10)", "гиппопотам"),
        Term("medium", "medium word (~1,000)", "абонемент"),
        Term("common", "common word (~100,000)", "бонус"),
        Term("phone", "phone-number fragment (7 digits)", phone_fragment),
        Term("phone_plus", "whole number written +7...", "+" + phone),
        Term("cyrillic_case", "Cyrillic, other case than stored", "МОСКВА"),
        Term("two_chars", "2 characters", "да"),
        Term("status", "status text (+ text matches)", "доставлено"),
        Term("none", "no match", "квазиштиль"),
        Term("all", "no search", ""),
        Term("all_p3", "no search, page 3", "", page=3, counts_as="all"),
        Term("common_deep", "common word, page 101 (past the 10,000th match)", "бонус", 101, "common"),
    ]


# --- text generation -----------------------------------------------------------------------

RU_WORDS = (
    "ваш код подтверждения для входа никому не сообщайте заказ номер готов к выдаче пункт "
    "самовывоза курьер приедет сегодня завтра с до оплата прошла успешно баланс счета пополнен на "
    "рублей списание карта запись врачу напоминаем о визите акция только три дня скидка магазин "
    "перезвоните пожалуйста спасибо за покупку ждем вас снова посылка прибыла в отделение трек "
    "парковка оплачена такси будет через минут водитель машина белый серый черный пароль изменен "
    "если это были вы позвоните нам встреча перенесена билет рейс вылет посадка терминал выход "
    "гостиница бронирование подтверждено счет отправлен почту договор подписан документы готовы "
    "анализы результаты клиника аптека рецепт доставка привезем тариф интернет роуминг подключен "
    "отключен абонент доступен звонок пропущенный сообщение новое уведомление важно срочно вход "
    "устройство банк перевод получен от кешбэк начислен баллы накоплено кафе стол забронирован "
    "гостей вечер утро день неделя понедельник вторник среда четверг пятница суббота воскресенье "
    "Санкт-Петербург Казань Новосибирск Екатеринбург Сочи Краснодар Самара Ростов Пермь Воронеж "
    "подарок кэшбэк ёлка ещё всё счёт"
).split()
EN_WORDS = (
    "your code is verification do not share it with anyone order has been shipped delivered "
    "tracking number package arrives today tomorrow payment received thank you for shopping "
    "appointment reminder at please call back balance account card ending in sale ends soon off "
    "everything store pickup ready driver arriving minutes flight gate boarding hotel booking "
    "confirmed password changed login new device meeting moved invoice sent to email table reserved "
    "guests points earned reward free shipping weekend offer limited time reply stop unsubscribe"
).split()
NAMES = ("Иван П.", "Мария С.", "Алексей К.", "Ольга В.", "Дмитрий Н.", "Елена Ж.", "Anna K.", "John D.")
SHOPS = ("Пятёрочка", "Лента", "OZON", "Wildberries", "М.Видео", "DNS", "Перекрёсток", "Вкусвилл", "IKEA")
CARS = ("Kia Rio", "Hyundai Solaris", "Skoda Octavia", "VW Polo", "Renault Logan", "Toyota Camry")
COLORS = ("белый", "серый", "черный", "синий", "красный")
PLATE_LETTERS = "АВЕКМНОРСТУХ"
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RU_TEMPLATES = (
    "Ваш код подтверждения: {code}. Никому не сообщайте его.",
    "Код для входа: {code}",
    "Заказ №{order} готов к выдаче в пункте самовывоза до {date}.",
    "Заказ №{order} передан курьеру. Курьер приедет {day} с {h}:00 до {h2}:00.",
    "Оплата {amount} ₽ прошла успешно. Баланс: {amount2} ₽",
    "Списание {amount} ₽ по карте *{card}. {shop}",
    "Напоминаем о записи к врачу {date} в {h}:{mm}.",
    "Отправление {track} доставлено в пункт выдачи. Код получения {code}",
    "Сообщение доставлено абоненту +{phone}",
    "Такси будет через {n} минут: {color} {car}, {plate}",
    "Пароль изменен. Если это были не вы, позвоните +{phone}",
    "Перевод {amount} ₽ от {name} получен",
    "Столик забронирован на {date} в {h}:{mm}, гостей: {n}",
    "Рейс SU{flight} вылет {h}:{mm}, выход {gate}. Посадка заканчивается за 20 минут",
    "Промокод {promo} на скидку {pct}% до {date}",
    "{shop}: ваш заказ {order} уже в пути, трек {track}",
)
EN_TEMPLATES = (
    "Your verification code is {code}. Do not share it with anyone.",
    "Your order #{order} has been shipped. Tracking: {track}",
    "Payment of ${amount} received. Thank you!",
    "Reminder: appointment on {date} at {h}:{mm}. Reply STOP to unsubscribe",
    "Use code {promo} for {pct}% off. Offer ends {date}.",
    "Your driver is arriving in {n} minutes: {color_en} {car}",
    "Flight SU{flight} gate {gate}, boarding {h}:{mm}",
    "Login from a new device, token {token}. Not you? Call +{phone}",
)
DAYS = ("сегодня", "завтра", "в понедельник", "в среду", "в пятницу")


def _clean_vocabulary() -> tuple[list[str], list[str]]:
    """Vocabulary and templates must not contain a planted term: its counts stay exact."""
    needles = [label for _, label, _, _ in PLANTED]
    for template in RU_TEMPLATES + EN_TEMPLATES + NAMES + SHOPS + CARS + COLORS + DAYS:
        assert not any(n in template.casefold() for n in needles), template
    ru = [w for w in RU_WORDS if not any(n in w.casefold() for n in needles)]
    en = [w for w in EN_WORDS if not any(n in w.casefold() for n in needles)]
    return ru, en


class _Fields(dict[str, str]):
    """Template fields, each made only when the template asks for it."""

    def __init__(self, rng: random.Random, phone: Callable[[], str]) -> None:
        super().__init__()
        self.rng = rng
        self.phone = phone

    def __missing__(self, key: str) -> str:
        rng = self.rng
        if key in ("h", "h2"):
            h = rng.randrange(7, 22)
            self["h"], self["h2"] = str(h), str(min(h + 2, 23))
            return self[key]
        value = getattr(self, "_" + key)()
        self[key] = value
        return value

    def _code(self) -> str:
        digits = self.rng.choice((4, 5, 6))
        return f"{self.rng.randrange(10**digits):0{digits}d}"

    def _order(self) -> str:
        return str(self.rng.randrange(10_000, 999_999))

    def _date(self) -> str:
        return f"{self.rng.randrange(1, 29):02d}.{self.rng.randrange(1, 13):02d}"

    def _day(self) -> str:
        return self.rng.choice(DAYS)

    def _mm(self) -> str:
        return f"{self.rng.choice((0, 10, 15, 20, 30, 40, 45, 50)):02d}"

    def _amount(self) -> str:
        rng = self.rng
        return str(rng.randrange(50, 5_000) if rng.random() < 0.7 else rng.randrange(100, 99_999))

    def _amount2(self) -> str:
        return str(self.rng.randrange(0, 250_000))

    def _card(self) -> str:
        return f"{self.rng.randrange(10_000):04d}"

    def _shop(self) -> str:
        return self.rng.choice(SHOPS)

    def _track(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return f"RA{rng.randrange(10**9):09d}RU"
        return "1Z" + "".join(rng.choices("0123456789ABCDEF", k=16))

    def _phone(self) -> str:
        return self.phone()

    def _n(self) -> str:
        return str(self.rng.randrange(2, 15))

    def _color(self) -> str:
        return self.rng.choice(COLORS)

    def _color_en(self) -> str:
        return self.rng.choice(("white", "grey", "black", "blue"))

    def _car(self) -> str:
        return self.rng.choice(CARS)

    def _plate(self) -> str:
        rng = self.rng
        letters = "".join(rng.choices(PLATE_LETTERS, k=3))
        return f"{letters[0]}{rng.randrange(1000):03d}{letters[1:]}{rng.choice((77, 97, 177, 78, 50))}"

    def _name(self) -> str:
        return self.rng.choice(NAMES)

    def _flight(self) -> str:
        return str(self.rng.randrange(1000, 9999))

    def _gate(self) -> str:
        return f"{self.rng.choice('ABCDE')}{self.rng.randrange(1, 40)}"

    def _promo(self) -> str:
        return "".join(self.rng.choices(ALNUM, k=self.rng.randrange(6, 9)))

    def _pct(self) -> str:
        return str(self.rng.choice((5, 10, 15, 20, 30, 50)))

    def _token(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return "".join(rng.choices("0123456789abcdef", k=8))
        return "".join(rng.choices(ALNUM, k=10))


class Generator:
    """Deterministic SMS rows (seeded), in id order."""

    def __init__(self, rows: int, account_id: str, seed: int = SEED) -> None:
        self.rows = rows
        self.account_id = account_id
        self.rng = random.Random(seed)
        rng = self.rng
        self.ru, self.en = _clean_vocabulary()
        self.phones = [f"79{rng.randrange(10**9):09d}" for _ in range(100_000)]
        # A number in the busy head of the (skewed) distribution: a few hundred SMS.
        self.term_phone = self.phones[50]
        self.planted: dict[int, list[str]] = {}
        scale = rows / 1_000_000
        for _key, _label, per_million, spellings in PLANTED:
            count = round(per_million * scale) if per_million else 0
            for index in rng.sample(range(rows), count):
                self.planted.setdefault(index, []).append(rng.choice(spellings))
        self.process_random = f"{rng.getrandbits(40):010x}"
        self.months: Counter[int] = Counter()
        """SMS per month (yyyymm, UTC), as the app counts them in monthly_usage."""
        self.start = int(time.time()) - 365 * 24 * 3600

    def _fill(self, template: str) -> str:
        return template.format_map(_Fields(self.rng, self._phone))

    def _phone(self) -> str:
        # Skewed: some customers get many SMS, most get a few.
        return self.phones[int(len(self.phones) * self.rng.random() ** 3)]

    def message(self, index: int) -> str:
        rng = self.rng
        russian = rng.random() < 0.7
        text = self._fill(rng.choice(RU_TEMPLATES if russian else EN_TEMPLATES))
        words = text.split(" ")
        extra = rng.choice((0, 0, 0, 1, 2, 3, 5, 8))
        words += rng.choices(self.ru if russian else self.en, k=extra)
        for spelling in self.planted.get(index, ()):
            words.insert(rng.randrange(len(words) + 1), spelling)
        return " ".join(words)

    def batches(self, size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
        rng = self.rng
        span = 365 * 24 * 3600
        cumulative = list(itertools.accumulate(STATUS_WEIGHTS))
        batch: list[tuple[Any, ...]] = []
        for i in range(self.rows):
            created = self.start + (i * span) // self.rows
            row_id = f"{created:08x}{self.process_random}{i & 0xFFFFFF:06x}"
            phone = self._phone()
            text = self.message(i)
            status = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
            moment = time.gmtime(created)
            self.months[moment.tm_year * 100 + moment.tm_mon] += 1
            batch.append(
                (
                    row_id,
                    self.account_id,
                    phone,
                    text,
                    status,
                    "",
                    "",
                    "",
                    None,
                    created,
                    search_text(text, phone),
                    None,
                )
            )
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


def search_text(message: str, phone: str) -> str:
    """The stored search text, made by the app's own function when it has one."""
    try:
        from simrelay.sms.search import search_text as app_search_text
    except ImportError:  # older layout: the brief's definition
        return message.casefold() + "\n" + phone
    return app_search_text(message, phone)


def needle_of(search: str) -> str | None:
    """What the app looks for given the API's `search` (None: nothing can match)."""
    try:
        from simrelay.sms.search import needle
    except ImportError:
        return search.casefold()
    return needle(search)


def statuses_matching(needle: str) -> list[int]:
    try:
        from simrelay.sms.status import statuses_matching as app_statuses

        return [int(s) for s in app_statuses(needle)]
    except ImportError:  # the app moved it: fall back to the contract's texts
        texts = ("Ждет обработки", "Взято в обработку", "Отправлено", "Ошибка отправки", "Доставлено")
        texts += ("Ошибка доставки",)
        return [i for i, t in enumerate(texts) if needle in t.casefold()]


class Expected:
    """Counts, while generating, what each term must match (the app's search semantics)."""

    def __init__(self, terms: list[Term]) -> None:
        self.terms = []
        for term in terms:
            needle = needle_of(term.search) if term.search else ""
            statuses = set(statuses_matching(needle)) if needle else set()
            self.terms.append((term, needle, statuses))
        self.counts: Counter[str] = Counter()

    def add(self, batch: list[tuple[Any, ...]]) -> None:
        for term, needle, statuses in self.terms:
            if needle is None:
                self.counts[term.key] += 0
                continue
            if not needle:
                self.counts[term.key] += len(batch)
                continue
            self.counts[term.key] += sum(1 for row in batch if needle in row[10] or row[4] in statuses)


# --- filling -------------------------------------------------------------------------------


@dataclass
class Filled:
    db: str
    rows: int
    account_id: str
    token: str
    secret: str
    database_url: str
    term_phone: str
    expected: dict[str, int]
    fill_seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0


def setup_account(env: dict[str, str], workdir: Path) -> str:
    bl.cli(env, workdir, "db", "upgrade")
    bl.cli(env, workdir, "account", "create", EMAIL)
    return str(bl.last_json(bl.cli(env, workdir, "key", "create", EMAIL, "--json"))["token"])


def side_tables(
    gen: Generator, *, has_table: Callable[[str], bool], mark: str
) -> list[tuple[str, tuple[Any, ...]]]:
    """What the app keeps next to each stored SMS, for the rows inserted here: the account's live
    total (message_totals, read by the unfiltered list) and its monthly usage counters."""

    def marks(n: int) -> str:
        return ", ".join("?" if mark == "?" else f"${i + 1}" for i in range(n))

    statements: list[tuple[str, tuple[Any, ...]]] = []
    if has_table("message_totals"):
        statements.append(
            (
                f"INSERT INTO message_totals (account_id, total) VALUES ({marks(2)}) "
                "ON CONFLICT (account_id) DO UPDATE SET total = excluded.total",
                (gen.account_id, gen.rows),
            )
        )
    if has_table("monthly_usage"):
        for month, count in sorted(gen.months.items()):
            statements.append(
                (
                    f"INSERT INTO monthly_usage (account_id, month, count) VALUES ({marks(3)}) "
                    "ON CONFLICT (account_id, month) DO UPDATE SET count = excluded.count",
                    (gen.account_id, month, count),
                )
            )
    return statements


def _sqlite_has(conn: sqlite3.Connection, table: str) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return found.fetchone() is not None


def fill_sqlite(args: argparse.Namespace, workdir: Path) -> Filled:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    path = workdir / "simrelay.db"
    url = f"sqlite+aiosqlite:///{path}"
    secret = secrets.token_urlsafe(48)
    env = bl.simrelay_env(workdir, url, SIMRELAY_SECRET_KEY=secret)
    started = time.monotonic()
    token = setup_account(env, workdir)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        account_id = conn.execute("SELECT id FROM accounts WHERE email = ?", (EMAIL,)).fetchone()[0]
        gen = Generator(args.rows, account_id)
        expected = Expected(terms_for(gen.term_phone))
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-524288")
        insert = f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        conn.execute("BEGIN")
        done = 0
        for batch in gen.batches():
            expected.add(batch)
            conn.executemany(insert, batch)
            done += len(batch)
            if done % 200_000 == 0 or done == args.rows:
                bl.log(f"sqlite: {done} rows, {time.monotonic() - started:.0f}s")
        for statement, params in side_tables(gen, has_table=lambda t: _sqlite_has(conn, t), mark="?"):
            conn.execute(statement, params)
        conn.execute("COMMIT")
        # The insert trigger queued every row for the FTS5 index; index them all now, as the
        # server's indexer (repository.index_queued_messages) would have long before anyone
        # searches. Searching while the queue drains measures the indexer, not search.
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO messages_fts(rowid, search_text) SELECT m.rowid, m.search_text "
            "FROM search_queue q CROSS JOIN messages m ON m.rowid = q.message_rowid"
        )
        conn.execute("DELETE FROM search_queue")
        conn.execute("COMMIT")
        loaded = time.monotonic() - started
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    size = sum(p.stat().st_size for p in workdir.glob("simrelay.db*"))
    return Filled(
        "sqlite",
        args.rows,
        account_id,
        token,
        secret,
        url,
        gen.term_phone,
        dict(expected.counts),
        round(elapsed, 1),
        {"insert_and_fts_index": round(loaded, 1), "checkpoint": round(elapsed - loaded, 1)},
        size,
    )


def fill_postgres(args: argparse.Namespace, workdir: Path) -> Filled:
    import asyncpg

    server = args.pg_server.rstrip("/")
    bl.pg_recreate(args.pg_database, dsn=f"{server}/postgres")
    dsn = f"{server}/{args.pg_database}"
    url = f"{server.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{args.pg_database}"
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    env = bl.simrelay_env(workdir, url, SIMRELAY_SECRET_KEY=secret)
    started = time.monotonic()
    token = setup_account(env, workdir)
    phases: dict[str, float] = {}

    async def load() -> tuple[str, dict[str, int], str, int]:
        conn = await asyncpg.connect(dsn, timeout=30)
        try:
            account_id = await conn.fetchval("SELECT id FROM accounts WHERE email = $1", EMAIL)
            gen = Generator(args.rows, account_id)
            expected = Expected(terms_for(gen.term_phone))
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = 'messages' AND indexname <> 'pk_messages'"
            )
            t0 = time.monotonic()
            async with conn.transaction():
                for index in indexes:
                    await conn.execute(f'DROP INDEX "{index["indexname"]}"')
                done = 0
                for batch in gen.batches():
                    expected.add(batch)
                    await conn.copy_records_to_table("messages", records=batch, columns=COLUMNS)
                    done += len(batch)
                    if done % 200_000 == 0 or done == args.rows:
                        bl.log(f"postgres: {done} rows, {time.monotonic() - started:.0f}s")
                regclasses = {
                    t: await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", t)
                    for t in ("message_totals", "monthly_usage")
                }
                for statement, params in side_tables(gen, has_table=regclasses.__getitem__, mark="$"):
                    await conn.execute(statement, *params)
                phases["copy"] = round(time.monotonic() - t0, 1)
                t1 = time.monotonic()
                await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
                for index in indexes:
                    bl.log(f"postgres: {index['indexdef']}")
                    await conn.execute(index["indexdef"])
                phases["create_indexes"] = round(time.monotonic() - t1, 1)
            t2 = time.monotonic()
            await conn.execute("VACUUM (ANALYZE) messages")
            phases["vacuum_analyze"] = round(time.monotonic() - t2, 1)
            size = await conn.fetchval("SELECT pg_total_relation_size('messages')")
            return account_id, dict(expected.counts), gen.term_phone, int(size)
        finally:
            await conn.close()

    account_id, expected, fragment, size = asyncio.run(load())
    return Filled(
        "postgres",
        args.rows,
        account_id,
        token,
        secret,
        url,
        fragment,
        expected,
        round(time.monotonic() - started, 1),
        phases,
        size,
    )


def stored_rows(filled: Filled, args: argparse.Namespace, workdir: Path) -> int:
    query = "SELECT count(*) FROM messages"
    if filled.db == "sqlite":
        return int(bl.sqlite_fetchval(workdir / "simrelay.db", query))
    return int(bl.pg_fetchval(f"{args.pg_server.rstrip('/')}/{args.pg_database}", query))


def stored_layout() -> str:
    """What the app stores as search text: a fill made for another layout is not reused."""
    return search_text("Ab", "7")


def filled_database(db: str, args: argparse.Namespace) -> Filled:
    workdir = args.data_dir / db
    state_path = workdir / "filled.json"
    if args.reuse and state_path.exists():
        saved = json.loads(state_path.read_text())
        layout = saved.pop("layout", None)
        try:
            filled = Filled(**saved)
            rows = stored_rows(filled, args, workdir)
        except Exception as exc:  # gone, broken or from an older bench: fill again
            rows = -1
            bl.log(f"{db}: cannot reuse ({exc!r})")
        if rows == args.rows and filled.rows == args.rows and layout == stored_layout():
            bl.log(f"{db}: reusing {rows} rows (filled in {filled.fill_seconds}s)")
            return filled
        bl.log(f"{db}: saved fill does not match (--rows {args.rows}, found {rows}, layout): filling again")
    bl.log(f"{db}: filling {args.rows} rows")
    filled = fill_sqlite(args, workdir) if db == "sqlite" else fill_postgres(args, workdir)
    state_path.write_text(
        json.dumps({**asdict(filled), "layout": stored_layout()}, indent=2, ensure_ascii=False)
    )
    bl.log(f"{db}: filled in {filled.fill_seconds}s {filled.phases}, {filled.size_bytes / 2**20:.0f} MiB")
    return filled


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Measured:
    term: Term
    total_records: int | None = None
    relation: str | None = None
    returned: int | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    wrk: dict[str, float] | None = None
    plans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answered_right(self) -> bool:
        return (self.total_records, self.relation) == self.term.answer

    @property
    def p50(self) -> float:
        return bl.percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return bl.percentile(self.latencies_ms, 99)


def path_for(term: Term) -> str:
    query = {"limit": "100"}
    if term.page != 1:
        query["offset"] = str(term.page)
    if term.search:
        query["search"] = term.search
    return "/v1/sms?" + urllib.parse.urlencode(query)


def sequential(port: int, term: Term, token: str, args: argparse.Namespace) -> Measured:
    result = Measured(term)
    headers = {"Authorization": f"Bearer {token}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    deadline = time.monotonic() + args.term_budget
    try:
        for i in range(args.warmup_requests + args.requests):
            t0 = time.perf_counter()
            try:
                conn.request("GET", path_for(term), headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                bl.log(f"{term.key}: request failed ({exc!r}), reconnecting")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                result.statuses[-1] = result.statuses.get(-1, 0) + 1
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            if result.total_records is None:
                try:
                    payload = json.loads(body)
                    result.total_records = payload["pagination"]["total_records"]
                    result.relation = response.getheader("Total-Records-Relation")
                    result.returned = len(payload["sms_list"])
                except (ValueError, KeyError, TypeError):
                    bl.log(f"{term.key}: HTTP {response.status} {body[:300]!r}")
            if i >= args.warmup_requests:
                result.latencies_ms.append(elapsed)
                result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
            if time.monotonic() > deadline:
                bl.log(f"{term.key}: stopped after {len(result.latencies_ms)} requests (--term-budget)")
                break
    finally:
        conn.close()
    return result


def app_statements(filled: Filled, search: str) -> list[tuple[str, str, Any]]:
    """(name, SQL, parameters) of what the app runs for `search`: its own list_messages is called
    on a connection that records every statement, so no query is rebuilt here."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from simrelay.sms import repository

    needle = needle_of(search) if search else ""
    if needle is None:
        return []
    captured: list[tuple[str, str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((f"statement {len(captured) + 1}", statement, parameters))

    def work(conn: sa.Connection) -> None:
        repository.list_messages(conn, filled.account_id, limit=100, page=1, needle=needle)

    if filled.db == "sqlite":
        path = Path(filled.database_url.split(":///", 1)[1])
        engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            with engine.connect() as conn:
                work(conn)
        finally:
            engine.dispose()
        return captured

    async def run() -> None:
        engine = create_async_engine(filled.database_url)
        sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(work)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return captured


def explain(filled: Filled, term: Term, args: argparse.Namespace) -> list[dict[str, Any]]:
    try:
        statements = app_statements(filled, term.search)
    except Exception as exc:  # the repository changed shape: say so instead of guessing
        return [{"error": f"could not run the app's list_messages: {exc!r}"}]
    plans: list[dict[str, Any]] = []
    if filled.db == "sqlite":
        path = args.data_dir / "sqlite" / "simrelay.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for name, sql, params in statements:
                plan = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
                t0 = time.perf_counter()
                conn.execute(sql, params).fetchall()
                ms = (time.perf_counter() - t0) * 1000
                lines = [f"{'  ' * _depth(plan, row)}{row[3]}" for row in plan]
                plans.append(
                    {
                        "statement": name,
                        "sql": sql,
                        "params": list(params),
                        "ms_direct": round(ms, 1),
                        "plan": lines,
                    }
                )
        finally:
            conn.close()
        return plans
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(f"{args.pg_server.rstrip('/')}/{args.pg_database}", timeout=30)
        try:
            for name, sql, params in statements:
                if not sql.lstrip().upper().startswith("SELECT"):
                    await conn.execute(sql, *params)  # settings such as SET plan_cache_mode
                    continue
                rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
                plans.append(
                    {"statement": name, "sql": sql, "params": list(params), "plan": [r[0] for r in rows]}
                )
        finally:
            await conn.close()

    asyncio.run(run())
    return plans


def _depth(plan: list[tuple[Any, ...]], row: tuple[Any, ...]) -> int:
    parents = {r[0]: r[1] for r in plan}
    depth, parent = 0, row[1]
    while parent in parents and depth < 50:
        depth, parent = depth + 1, parents[parent]
    return depth


def settle(filled: Filled, args: argparse.Namespace, timeout: float = 180.0) -> None:
    """Waits until the requests wrk left in flight are done, so they do not slow the next term.

    The server keeps running them after wrk stops: on PostgreSQL on other pool connections
    (visible in pg_stat_activity), on SQLite in its thread pool (a cheap request queues behind).
    """
    deadline = time.monotonic() + timeout
    if filled.db == "postgres":
        dsn = f"{args.pg_server.rstrip('/')}/{args.pg_database}"
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active' "
            "AND pid <> pg_backend_pid()"
        )
        while time.monotonic() < deadline and bl.pg_fetchval(dsn, query, args.pg_database):
            time.sleep(0.5)
        return
    cheap = Term("settle", "settle", "")
    probe = argparse.Namespace(**{**vars(args), "requests": 1, "warmup_requests": 0, "term_budget": 60})
    while time.monotonic() < deadline:
        if max(sequential(args.port, cheap, filled.token, probe).latencies_ms, default=1e9) < 50:
            return
        time.sleep(0.5)


def measure(filled: Filled, args: argparse.Namespace) -> list[Measured]:
    workdir = args.data_dir / filled.db
    env = bl.simrelay_env(workdir, filled.database_url, SIMRELAY_SECRET_KEY=filled.secret)
    server = bl.Server(env, workdir, args.port, 1)
    terms = [t for t in terms_for(filled.term_phone) if not args.terms or t.key in args.terms]
    for term in terms:
        term.expected = filled.expected.get(term.counts_as or term.key, 0)
    results: list[Measured] = []
    try:
        server.start()
        for term in terms:
            measured = sequential(args.port, term, filled.token, args)
            if args.wrk_duration > 0:
                measured.wrk = bl.wrk(
                    f"{server.base_url}{path_for(term)}",
                    args.wrk_conns,
                    args.wrk_duration,
                    bl.BENCH_DIR / "get_auth.lua",
                    bl.wrk_env(GET_AUTH=f"Bearer {filled.token}"),
                )
                settle(filled, args)
            bl.log(
                f"{filled.db} {term.key} search={term.search!r}: total={measured.total_records} "
                f"{measured.relation} (expected {term.answer}) p50={measured.p50:.1f}ms "
                f"p99={measured.p99:.1f}ms wrk={measured.wrk and round(measured.wrk['rps'])}"
            )
            results.append(measured)
    finally:
        server.stop()
    for measured in results:
        if measured.p99 > args.slow_ms:
            measured.plans = explain(filled, measured.term, args)
    return results


def table(filled: Filled, results: list[Measured], args: argparse.Namespace) -> str:
    out = [
        f"### {filled.db}: {filled.rows:,} SMS in one account (filled in {filled.fill_seconds:.0f} s, "
        f"{filled.size_bytes / 2**20:.0f} MiB)",
        "",
        f"GET /v1/sms?limit=100&search=...; sequential: {args.requests} requests per term on one "
        f"keep-alive connection; wrk: c={args.wrk_conns}, {args.wrk_duration} s",
        "",
        "| term | search= | expected | total_records | p50 ms | p99 ms | max ms | "
        f"wrk req/s | wrk p50 ms | wrk p99 ms | errors | slow (p99 > {args.slow_ms:g} ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        t = m.term
        mismatch = "" if m.answered_right else " **MISMATCH**"
        found = "-" if m.total_records is None else f"{m.total_records:,} ({m.relation})"
        errors = sum(n for status, n in m.statuses.items() if status != 200)
        w = m.wrk or {}
        wrk_errors = int(w.get("non2xx", 0) + w.get("sockerr", 0))
        out.append(
            f"| {t.kind} | `{t.search}` | {t.answer[0]:,} ({t.answer[1]}) | {found}{mismatch}"
            f" | {m.p50:.1f} | {m.p99:.1f} | {max(m.latencies_ms, default=float('nan')):.1f} | "
            f"{w.get('rps', float('nan')):.0f} | {w.get('p50_ms', float('nan')):.1f} | "
            f"{w.get('p99_ms', float('nan')):.1f} | {errors + wrk_errors} | {'**yes**' if m.plans else ''} |"
        )
    for m in results:
        for plan in m.plans:
            if "error" in plan:
                out += ["", f"{m.term.kind}: {plan['error']}"]
                continue
            direct = f", {plan['ms_direct']} ms run directly" if "ms_direct" in plan else ""
            out += [
                "",
                f"{filled.db}, {m.term.kind} (`{m.term.search}`), {plan['statement']}{direct}:",
                "```",
                plan["sql"],
                f"-- parameters: {plan.get('params')}",
                *plan["plan"],
                "```",
            ]
    return "\n".join(out)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=lambda v: v.split(","), default=["sqlite", "postgres"])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="use the databases filled by an earlier run")
    parser.add_argument(
        "--fill-only", action="store_true", help="fill (or check) the databases, measure nothing"
    )
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/simrelay-bench-search"))
    parser.add_argument("--pg-server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-database", default=PG_DATABASE)
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per term")
    parser.add_argument("--warmup-requests", type=int, default=3)
    parser.add_argument(
        "--term-budget", type=float, default=120.0, help="max seconds of sequential requests per term"
    )
    parser.add_argument("--wrk-conns", type=int, default=8)
    parser.add_argument("--wrk-duration", type=int, default=10, help="seconds of wrk per term; 0 skips wrk")
    parser.add_argument("--slow-ms", type=float, default=50.0, help="p99 above this gets EXPLAINed")
    parser.add_argument("--terms", type=lambda v: v.split(","), default=[], help="subset of term keys")
    args = parser.parse_args()
    if set(args.db) - {"sqlite", "postgres"}:
        parser.error(f"unknown database in {args.db}")
    if args.pg_database in bl.PROTECTED_DATABASES:
        parser.error(f"refusing to use {args.pg_database}")
    return args


def main() -> int:
    args = parse_args()
    when = bl.stamp()
    info = bl.machine()
    bl.log(f"machine: {info}")
    report: dict[str, Any] = {"kind": "search", "args": vars(args), "machine": info, "databases": {}}
    tables: list[str] = []
    failed = False
    for db in args.db:
        filled = filled_database(db, args)
        entry: dict[str, Any] = {"fill": asdict(filled)}
        if not args.fill_only:
            results = measure(filled, args)
            entry["terms"] = [
                {
                    **asdict(m.term),
                    "total_records": m.total_records,
                    "relation": m.relation,
                    "returned": m.returned,
                    "statuses": m.statuses,
                    "n": len(m.latencies_ms),
                    "p50_ms": round(m.p50, 2),
                    "p99_ms": round(m.p99, 2),
                    "max_ms": round(max(m.latencies_ms, default=0.0), 2),
                    "wrk": m.wrk,
                    "plans": m.plans,
                }
                for m in results
            ]
            failed |= not all(m.answered_right for m in results)
            tables.append(table(filled, results, args))
            print("\n" + tables[-1] + "\n", flush=True)
        report["databases"][db] = entry
    report["markdown"] = "\n\n".join(tables)
    path = bl.write_json(f"search-{when}.json", report)
    if tables:
        (bl.RESULTS_DIR / f"search-{when}.md").write_text(report["markdown"] + "\n")
    print(f"results: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    raise SystemExit(main())
