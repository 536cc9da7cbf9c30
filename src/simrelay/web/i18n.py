"""The panel's words in Russian (the default, as the API's errors) and English."""

from __future__ import annotations

LANGUAGES = ("ru", "en")

TEXTS: dict[str, dict[str, str]] = {
    "title": {"ru": "simrelay — панель", "en": "simrelay panel"},
    "sign_in": {"ru": "Войти", "en": "Sign in"},
    "sign_out": {"ru": "Выйти", "en": "Sign out"},
    "sign_up": {"ru": "Регистрация", "en": "Sign up"},
    "email": {"ru": "Email", "en": "Email"},
    "password": {"ru": "Пароль", "en": "Password"},
    "password_rule": {"ru": "не короче 12 символов", "en": "at least 12 characters"},
    "wrong_login": {"ru": "Неверный email или пароль", "en": "Wrong email or password"},
    "too_many": {
        "ru": "Слишком много неудачных попыток. Попробуйте позже.",
        "en": "Too many failed attempts. Try again later.",
    },
    "bad_form": {
        "ru": "Форма устарела. Обновите страницу и попробуйте снова.",
        "en": "The form has expired. Reload the page and try again.",
    },
    "taken": {"ru": "Этот email уже зарегистрирован", "en": "This email is already registered"},
    "blocked": {"ru": "Аккаунт заблокирован", "en": "The account is blocked"},
    "overview": {"ru": "Обзор", "en": "Overview"},
    "sms_month": {"ru": "SMS в этом месяце", "en": "SMS this month"},
    "quota": {"ru": "Лимит", "en": "Quota"},
    "lost_sms": {"ru": "Потерянные устройства", "en": "Lost devices"},
    "resend_lost": {
        "ru": "Отправлять заново SMS пропавшего устройства (может отправиться дважды)",
        "en": "Resend the SMS of a vanished device (may send twice)",
    },
    "resend_lost_hint": {
        "ru": "Выключено: SMS, которое устройство уже получило и не подтвердило, по истечении аренды "
        "получает статус 3 «device lost» и никогда не уходит второй раз; если устройство потом сообщит "
        "об отправке, статус обновится.",
        "en": "Off: an SMS a device was handed and never reported on ends, after the hard timeout, in "
        "status 3 “device lost” and is never sent a second time; if the device reports it later, the "
        "status follows.",
    },
    "unlimited": {"ru": "без ограничений", "en": "unlimited"},
    "devices": {"ru": "Устройства", "en": "Devices"},
    "webhooks": {"ru": "Вебхуки", "en": "Webhooks"},
    "disabled_hooks": {
        "ru": "Вебхук отключён simrelay",
        "en": "A webhook was switched off by simrelay",
    },
    "language": {"ru": "English", "en": "Русский"},
    "inbox": {"ru": "Входящие", "en": "Inbox"},
    "sender": {"ru": "Отправитель", "en": "Sender"},
    "usage": {"ru": "Расход", "en": "Usage"},
    "per_day": {"ru": "SMS по дням и статусам, 30 дней", "en": "SMS per day by status, 30 days"},
    "day": {"ru": "день", "en": "day"},
    "admin": {"ru": "Администрирование", "en": "Admin"},
    "block": {"ru": "Заблокировать", "en": "Block"},
    "unblock": {"ru": "Разблокировать", "en": "Unblock"},
    "api_keys": {"ru": "API-ключи", "en": "API keys"},
    "new_token": {"ru": "Новый токен", "en": "New token"},
    "shown_once": {
        "ru": "Показывается один раз: сохраните его сейчас.",
        "en": "Shown only once: keep it now.",
    },
    "copy_button": {"ru": "Копировать", "en": "Copy"},
    "name": {"ru": "Название", "en": "Name"},
    "can_send": {"ru": "отправка", "en": "send"},
    "can_read": {"ru": "чтение", "en": "read"},
    "create_key": {"ru": "Создать ключ", "en": "Create key"},
    "permissions": {"ru": "Права", "en": "Permissions"},
    "state": {"ru": "Состояние", "en": "State"},
    "last_used": {"ru": "Использован", "en": "Last used"},
    "active": {"ru": "активен", "en": "active"},
    "inactive": {"ru": "выключен", "en": "inactive"},
    "activate": {"ru": "Включить", "en": "Activate"},
    "deactivate": {"ru": "Выключить", "en": "Deactivate"},
    "delete": {"ru": "Удалить", "en": "Delete"},
    "save": {"ru": "Сохранить", "en": "Save"},
    "pair_device": {"ru": "Подключить устройство", "en": "Pair a device"},
    "code": {"ru": "Код", "en": "Code"},
    "code_valid": {"ru": "действует 10 минут", "en": "valid 10 minutes"},
    "sign_in_with_code": {"ru": "Вход по коду", "en": "Sign in with code"},
    "app_code_hint": {
        "ru": "Приложение не сканирует QR-коды: введите код на вкладке «By Code» (только цифры). "
        "Нужна версия 1.37.0 или новее, рекомендуется 1.67.0+.",
        "en": "The app scans no QR code: type the code on its “By Code” tab (digits only). "
        "It needs version 1.37.0 or later; 1.67.0+ is recommended.",
    },
    "app_unsupported": {
        "ru": "версия приложения ниже 1.37.0 не поддерживается: обновите приложение",
        "en": "app versions below 1.37.0 are not supported: update the app",
    },
    "app_cannot_cancel": {
        "ru": "приложение до 1.67.0 не может отменить полученное SMS: удаление его не остановит; "
        "обновите приложение",
        "en": "apps before 1.67.0 cannot cancel an SMS they fetched, so deleting it will not stop it: "
        "update the app",
    },
    "battery": {"ru": "Батарея", "en": "Battery"},
    "last_seen": {"ru": "На связи", "en": "Last seen"},
    "online": {"ru": "в сети", "en": "online"},
    "offline": {"ru": "не в сети", "en": "offline"},
    "sim_default": {"ru": "SIM по умолчанию", "en": "default SIM"},
    "sim_any": {"ru": "любая SIM", "en": "any SIM"},
    "ussd_code": {"ru": "USSD-код", "en": "USSD code"},
    "ussd_dial": {"ru": "Набрать", "en": "Dial"},
    "ussd_pending": {
        "ru": "Ответа пока нет (он придёт в /v1/devices/ussd/get и вебхук device.ussd)",
        "en": "No answer yet (it will be in /v1/devices/ussd/get and the device.ussd webhook)",
    },
    "ussd_done": {"ru": "Ответ сети", "en": "The network answered"},
    "ussd_error": {"ru": "Ошибка", "en": "Error"},
    "ussd_timeout": {"ru": "Ответ не пришёл вовремя", "en": "No answer in time"},
    "messages": {"ru": "Сообщения", "en": "Messages"},
    "phone": {"ru": "Номер", "en": "Phone"},
    "text": {"ru": "Текст", "en": "Text"},
    "send": {"ru": "Отправить", "en": "Send"},
    "search": {"ru": "Поиск", "en": "Search"},
    "found": {"ru": "Найдено", "en": "Found"},
    "created": {"ru": "Создано", "en": "Created"},
    "status": {"ru": "Статус", "en": "Status"},
    "time": {"ru": "Время", "en": "Time"},
    "device": {"ru": "Устройство", "en": "Device"},
    "reason": {"ru": "Причина", "en": "Reason"},
    "signing_secret": {"ru": "Секрет подписи", "en": "Signing secret"},
    "events": {"ru": "События", "en": "Events"},
    "add_webhook": {"ru": "Добавить вебхук", "en": "Add webhook"},
    "send_test": {"ru": "Тестовое событие", "en": "Send test event"},
    "rotate": {"ru": "Новый секрет", "en": "Rotate secret"},
    "delivery_log": {"ru": "Журнал доставки", "en": "Delivery log"},
    "event": {"ru": "Событие", "en": "Event"},
    "answer": {"ru": "Ответ", "en": "Answer"},
}


def pick_language(*, chosen: str | None, accept_language: str | None) -> str:
    """The `lang` cookie if set, else the first supported language the browser asks for."""
    if chosen in LANGUAGES:
        return str(chosen)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "ru"


def translator(language: str) -> dict[str, str]:
    return {key: texts[language] for key, texts in TEXTS.items()}
