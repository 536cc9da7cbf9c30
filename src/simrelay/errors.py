"""The one error type of the service and the GoSMS error catalogue.

Every failure a client can see is an `ApiError` carrying an `ErrorCode`; `api/errors.py`
alone turns it into the wire envelope `{"errors": {"code", "message", "hash"}}`.

Catalogue (code, HTTP status): 1000 500 internal, 1001 400 bad JSON, 1002 403 key
deactivated, 1003 401 unauthorized, 1004 400 no device, 1005 403 no send permission,
1006 403 quota used up, 1007 403 no read permission, 1008 404 SMS not found, 1009 404
device not found, 1010 404 webhook not found, 1011 429 rate limited (also too many
connections from one address), 1012 413 body too large (431: request line and headers),
1013 422 idempotency key reused, 1014 409 idempotency key in progress, 1015 409 the device
is offline (USSD), 1016 400 the device cannot do this (also: no USSD), 1017 408 request not
received in time, 1018 404 USSD request not found, 1019 404 campaign not found, 2001-2010
400 field errors (2010 also for malformed HTTP), 2011 400 USSD `code` invalid, 3000 403
account blocked.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """Each member is (GoSMS code, HTTP status, Russian text, English text)."""

    INTERNAL = (1000, 500, "Внутренняя ошибка сервера", "Internal server error")
    INVALID_JSON = (
        1001,
        400,
        "Тело запроса должно быть JSON-объектом с полями правильных типов",
        "The request body must be a JSON object with fields of the right types",
    )
    KEY_INACTIVE = (1002, 403, "API-ключ деактивирован", "The API key is deactivated")
    UNAUTHORIZED = (
        1003,
        401,
        "Неверный или отсутствующий токен авторизации",
        "Missing or invalid authorization token",
    )
    NO_DEVICE = (
        1004,
        400,
        "У аккаунта нет ни одного зарегистрированного устройства",
        "The account has no registered device",
    )
    SEND_FORBIDDEN = (
        1005,
        403,
        "Этому API-ключу запрещена отправка SMS",
        "This API key may not send SMS",
    )
    QUOTA_EXCEEDED = (
        1006,
        403,
        "Месячный лимит SMS исчерпан",
        "The monthly SMS quota is used up",
    )
    READ_FORBIDDEN = (
        1007,
        403,
        "Этому API-ключу запрещено чтение SMS",
        "This API key may not read SMS",
    )
    MESSAGE_NOT_FOUND = (1008, 404, "SMS не найдено", "SMS not found")
    DEVICE_NOT_FOUND = (1009, 404, "Устройство не найдено", "Device not found")
    WEBHOOK_NOT_FOUND = (1010, 404, "Вебхук не найден", "Webhook not found")
    RATE_LIMITED = (
        1011,
        429,
        "Слишком много запросов, повторите позже",
        "Too many requests, retry later",
    )
    BODY_TOO_LARGE = (1012, 413, "Тело запроса слишком большое", "Request body too large")
    HEAD_TOO_LARGE = (
        1012,
        431,
        "Строка запроса и заголовки длиннее {max} байт",
        "The request line and headers exceed {max} bytes",
    )
    TOO_MANY_CONNECTIONS = (
        1011,
        429,
        "Слишком много соединений с этого адреса, повторите позже",
        "Too many connections from this address, retry later",
    )
    REQUEST_TIMEOUT = (
        1017,
        408,
        "Запрос не получен вовремя",
        "The request did not arrive in time",
    )
    IDEMPOTENCY_MISMATCH = (
        1013,
        422,
        "Idempotency-Key уже использован с другим телом запроса",
        "Idempotency-Key was already used with a different request body",
    )
    IDEMPOTENCY_IN_PROGRESS = (
        1014,
        409,
        "Запрос с этим Idempotency-Key ещё обрабатывается",
        "A request with this Idempotency-Key is still being processed",
    )
    INVALID_PHONE = (
        2001,
        400,
        "Неверный phone_number: только цифры, от 3 до 30",
        "Invalid phone_number: digits only, 3 to 30 of them",
    )
    INVALID_MESSAGE = (
        2002,
        400,
        "Неверный message: нужен непробельный символ, без управляющих символов, не длиннее {max} символов",
        "Invalid message: needs a non-space character, no control characters, at most {max} characters",
    )
    INVALID_ID = (
        2003,
        400,
        "Неверный id: ожидается ObjectID",
        "Invalid id: an ObjectID is expected",
    )
    INVALID_CALLBACK_ID = (
        2004,
        400,
        "Неверный callback_id: ожидается ObjectID",
        "Invalid callback_id: an ObjectID is expected",
    )
    INVALID_DEVICE_ID = (
        2005,
        400,
        "Неверный device_id: ожидается ObjectID",
        "Invalid device_id: an ObjectID is expected",
    )
    INVALID_LIMIT = (
        2006,
        400,
        "Неверный limit: целое число от 1 до 100",
        "Invalid limit: an integer from 1 to 100",
    )
    INVALID_OFFSET = (
        2007,
        400,
        "Неверный offset: целое число не меньше 1",
        "Invalid offset: an integer of at least 1",
    )
    INVALID_SIM = (
        2008,
        400,
        "Неверный to_sim: целое число не меньше -2",
        "Invalid to_sim: an integer of at least -2",
    )
    INVALID_WEBHOOK_URL = (
        2009,
        400,
        "Неверный или запрещённый url вебхука",
        "Webhook url invalid or not allowed",
    )
    INVALID_FIELD = (2010, 400, "Неверное поле {field}", "Invalid field {field}")
    MALFORMED_HTTP = (2010, 400, "Неверный HTTP-запрос: {why}", "Malformed HTTP request: {why}")
    UNKNOWN_PATH = (2010, 404, "Неизвестный путь {path}", "Unknown path {path}")
    WRONG_METHOD = (
        2010,
        405,
        "Метод {method} не поддерживается для {path}; можно: {allowed}",
        "Method {method} is not allowed on {path}; allowed: {allowed}",
    )
    INVALID_USSD_CODE = (
        2011,
        400,
        "Неверный code: USSD-запрос из символов *, #, + и цифр, от 1 до 182",
        "Invalid code: a USSD string of *, #, + and digits, 1 to 182 of them",
    )
    DEVICE_OFFLINE = (
        1015,
        409,
        "Устройство не в сети",
        "The device is offline",
    )
    USSD_NOT_FOUND = (1018, 404, "USSD-запрос не найден", "USSD request not found")
    CAMPAIGN_NOT_FOUND = (1019, 404, "Рассылка не найдена", "Campaign not found")
    DEVICE_CANNOT = (
        1016,
        400,
        "Устройство не может этого: {why}",
        "The device cannot do this: {why}",
    )
    ACCOUNT_BLOCKED = (
        3000,
        403,
        "Аккаунт заблокирован администратором",
        "The account is blocked by an administrator",
    )

    @property
    def code(self) -> int:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]

    def text(self, language: str, **params: object) -> str:
        template: str = self.value[3] if language == "en" else self.value[2]
        return template.format_map(_Params(params))


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


class ApiError(Exception):
    """A client-visible failure; `params` fill the placeholders of the message text."""

    def __init__(
        self,
        error: ErrorCode,
        *,
        retry_after: int | None = None,
        **params: object,
    ) -> None:
        super().__init__(error.name)
        self.error = error
        self.retry_after = retry_after
        self.params = params
