"""The panel's words in Russian (the default, as the API's errors) and English."""

from __future__ import annotations

from simrelay.web.campaign_texts import CAMPAIGN_TEXTS

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
    "sim_settings": {"ru": "Лимиты SIM", "en": "SIM limits"},
    "sim_limit_per_day": {"ru": "SMS в день на SIM", "en": "SMS per day per SIM"},
    "sim_limit_per_month": {"ru": "SMS в месяц на SIM", "en": "SMS per month per SIM"},
    "sim_warmup_days": {"ru": "Дней прогрева новой SIM", "en": "Warm-up days of a new SIM"},
    "sim_new_recipients_per_day": {"ru": "Новых номеров в день на SIM", "en": "New numbers per day per SIM"},
    "sim_strategy": {"ru": "Выбор SIM", "en": "SIM choice"},
    "sticky_days": {"ru": "Дней за номером закреплена SIM", "en": "Days a number keeps its SIM"},
    "quiet_hours": {"ru": "Тихие часы (22:00-08:00)", "en": "Quiet hours (22:00-08:00)"},
    "timezone": {"ru": "Часовой пояс", "en": "Time zone"},
    "pause_after_failures": {
        "ru": "Пауза после отказов оператора подряд",
        "en": "Pause after carrier refusals in a row",
    },
    "pause_minutes": {"ru": "Пауза, минут", "en": "Pause, minutes"},
    "zero_is_off": {"ru": "0 — без ограничения", "en": "0 is no limit"},
    "sim_paused": {"ru": "SIM на паузе", "en": "SIM paused"},
    "paused_until": {"ru": "до", "en": "until"},
    "resume_now": {"ru": "Снять паузу", "en": "Resume now"},
    "messages": {"ru": "Сообщения", "en": "Messages"},
    "phone": {"ru": "Номер", "en": "Phone"},
    "text": {"ru": "Текст", "en": "Text"},
    "send": {"ru": "Отправить", "en": "Send"},
    "search": {"ru": "Поиск", "en": "Search"},
    "found": {"ru": "Найдено", "en": "Found"},
    "export_csv": {"ru": "Скачать CSV", "en": "Export CSV"},
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
    "smpp": {"ru": "SMPP", "en": "SMPP"},
    "smpp_users": {"ru": "Пользователи SMPP", "en": "SMPP users"},
    "smpp_connect": {"ru": "Подключение", "en": "How to connect"},
    "smpp_host": {"ru": "Адрес", "en": "Host"},
    "smpp_port": {"ru": "Порт", "en": "Port"},
    "smpp_off": {"ru": "SMPP-сервер выключен.", "en": "The SMPP server is off."},
    "smpp_turn_on": {
        "ru": "Чтобы включить, задайте порт и перезапустите simrelay:",
        "en": "To turn it on, give it a port and restart simrelay:",
    },
    "smpp_binds": {
        "ru": "SMPP 3.4. Отправлять (submit_sm) можно в режимах bind_transmitter и bind_transceiver; "
        "bind_receiver и bind_transceiver получают отчёты о доставке и входящие SMS (deliver_sm).",
        "en": "SMPP 3.4. bind_transmitter and bind_transceiver may send (submit_sm); bind_receiver "
        "and bind_transceiver receive delivery receipts and incoming SMS (deliver_sm).",
    },
    "smpp_system_id_rule": {
        "ru": "1–15 печатных символов ASCII, уникален на сервере",
        "en": "1 to 15 printable ASCII characters, unique on this server",
    },
    "smpp_password_rule": {
        "ru": "1–8 печатных символов ASCII, как позволяет SMPP 3.4",
        "en": "1 to 8 printable ASCII characters, as SMPP 3.4 allows",
    },
    "smpp_create": {"ru": "Создать пользователя", "en": "Create user"},
    "smpp_created": {"ru": "Пользователь SMPP создан:", "en": "SMPP user created:"},
    "smpp_password_gone": {
        "ru": "Пароль хранится только в виде хэша и больше не показывается.",
        "en": "Its password is stored hashed and is not shown again.",
    },
    "smpp_deleted": {
        "ru": "Пользователь SMPP удалён: с ним больше нельзя подключиться.",
        "en": "The SMPP user is deleted: it can no longer bind.",
    },
    "smpp_delete_question": {
        "ru": "Удалить пользователя (его открытые сессии закроются в течение 10 секунд)",
        "en": "Delete the user (its bound sessions are closed within 10 seconds)",
    },
    "yes_delete": {"ru": "Да, удалить", "en": "Yes, delete"},
    "smpp_none": {"ru": "Пользователей SMPP пока нет.", "en": "No SMPP users yet."},
    "smpp_bad_system_id": {
        "ru": "system_id должен состоять из 1–15 печатных символов ASCII",
        "en": "The system_id must be 1 to 15 printable ASCII characters",
    },
    "smpp_bad_password": {
        "ru": "Пароль должен состоять из 1–8 печатных символов ASCII",
        "en": "The password must be 1 to 8 printable ASCII characters",
    },
    "smpp_bad_taken": {
        "ru": "Этот system_id уже занят на сервере",
        "en": "This system_id is already taken on this server",
    },
    "smpp_bad_unknown": {"ru": "Нет такого пользователя SMPP", "en": "No such SMPP user"},
    "smpp_routes": {"ru": "Маршруты SMPP", "en": "SMPP routes"},
    "smpp_routes_link": {
        "ru": "Маршруты SMPP: SMSC операторов, через которые уходят SMS",
        "en": "SMPP routes: the carriers' SMSCs your SMS go out through",
    },
    "smpp_routes_about": {
        "ru": "Маршрут — это SMSC оператора, к которому simrelay подключается сам (bind_transceiver). "
        "Он работает как устройство аккаунта: в сети, пока подключение установлено.",
        "en": "A route is a carrier's SMSC that simrelay binds to (bind_transceiver). It works as "
        "a device of the account: online while it is bound.",
    },
    "smpp_route_name_rule": {"ru": "по умолчанию «SMPP адрес»", "en": "default “SMPP host”"},
    "smpp_route_system_id_rule": {
        "ru": "выдан оператором, 1–15 печатных символов ASCII",
        "en": "given by the carrier, 1 to 15 printable ASCII characters",
    },
    "smpp_route_source_addr_rule": {
        "ru": "отправитель всех SMS, до 20 символов; пусто — по умолчанию SMSC",
        "en": "sender of every SMS, up to 20 characters; empty: the SMSC's default",
    },
    "smpp_route_tps_rule": {
        "ru": "submit_sm в секунду, 0 — без ограничения",
        "en": "submit_sm per second, 0: no limit",
    },
    "smpp_route_window": {"ru": "Окно", "en": "Window"},
    "smpp_route_window_rule": {
        "ru": "submit_sm без ответа одновременно, 1–1000",
        "en": "submit_sm awaiting their answer at once, 1 to 1000",
    },
    "smpp_route_no_limit": {"ru": "без ограничения", "en": "no limit"},
    "smpp_route_create": {"ru": "Создать маршрут", "en": "Create route"},
    "smpp_route_created": {"ru": "Маршрут создан:", "en": "Route created:"},
    "smpp_route_password_gone": {
        "ru": "Пароль отправляется только SMSC и больше нигде не показывается.",
        "en": "Its password goes to the SMSC only and is not shown again.",
    },
    "smpp_route_deleted": {
        "ru": "Маршрут удалён вместе с его устройством.",
        "en": "The route is deleted, and its device with it.",
    },
    "smpp_route_delete_question": {
        "ru": "Удалить маршрут и его устройство (подключение к SMSC закроется в течение нескольких секунд)",
        "en": "Delete the route and its device (the link to the SMSC closes within seconds)",
    },
    "smpp_routes_none": {"ru": "Маршрутов SMPP пока нет.", "en": "No SMPP routes yet."},
    "smpp_route_bad_host": {
        "ru": "Адрес должен содержать от 1 до 255 символов",
        "en": "The host must be 1 to 255 characters",
    },
    "smpp_route_bad_port": {
        "ru": "Порт должен быть числом от 1 до 65535",
        "en": "The port must be a number from 1 to 65535",
    },
    "smpp_route_bad_system_id": {
        "ru": "system_id должен состоять из 1–15 печатных символов ASCII",
        "en": "The system_id must be 1 to 15 printable ASCII characters",
    },
    "smpp_route_bad_password": {
        "ru": "Пароль должен состоять из 1–8 печатных символов ASCII",
        "en": "The password must be 1 to 8 printable ASCII characters",
    },
    "smpp_route_bad_source_addr": {
        "ru": "source_addr — не больше 20 печатных символов ASCII",
        "en": "The source_addr must be at most 20 printable ASCII characters",
    },
    "smpp_route_bad_tps": {
        "ru": "TPS должен быть числом: 0 (без ограничения) или больше",
        "en": "The TPS must be a number: 0 (no limit) or more",
    },
    "smpp_route_bad_window": {
        "ru": "Окно должно быть числом от 1 до 1000",
        "en": "The window must be a number from 1 to 1000",
    },
    "smpp_route_bad_unknown": {"ru": "Нет такого маршрута SMPP", "en": "No such SMPP route"},
    "smpp_senders": {"ru": "Отправители", "en": "Senders"},
    "smpp_senders_about": {
        "ru": "SMS с этим source_addr уходят через выбранное устройство (и SIM); с другим — через любое.",
        "en": "SMS submitted with this source_addr go out through the chosen device (and SIM); "
        "any other source_addr goes through any device.",
    },
    "smpp_senders_none": {"ru": "Сопоставлений нет.", "en": "No mappings."},
    "smpp_senders_no_devices": {
        "ru": "Сначала подключите устройство или создайте маршрут.",
        "en": "Pair a device or create a route first.",
    },
    "smpp_sender_sim_rule": {
        "ru": "пусто — SIM по умолчанию, -1 — любая, 0… — слот",
        "en": "empty: the default SIM, -1: any, 0…: a slot",
    },
    "smpp_sender_add": {"ru": "Сопоставить", "en": "Map"},
    "smpp_sender_added": {"ru": "Сопоставлено:", "en": "Mapped:"},
    "smpp_sender_deleted": {
        "ru": "Сопоставление удалено: этот source_addr снова уходит через любое устройство.",
        "en": "The mapping is deleted: this source_addr goes through any device again.",
    },
    "smpp_sender_delete_question": {"ru": "Удалить сопоставление", "en": "Delete the mapping of"},
    "smpp_sender_bad_source_addr": {
        "ru": "source_addr должен состоять из 1–20 печатных символов ASCII",
        "en": "The source_addr must be 1 to 20 printable ASCII characters",
    },
    "smpp_sender_bad_sim": {
        "ru": "SIM: пусто, -2, -1 или номер слота от 0",
        "en": "The SIM must be empty, -2, -1 or a slot number from 0",
    },
    "smpp_sender_bad_device": {"ru": "Нет такого устройства", "en": "No such device"},
    "smpp_sender_bad_unknown": {"ru": "Нет такого сопоставления", "en": "No such mapping"},
    "smpp_sender_bad_busy": {
        "ru": "Этот source_addr сопоставили в тот же момент: попробуйте снова",
        "en": "This source_addr was mapped at the same moment: try again",
    },
}
TEXTS.update(CAMPAIGN_TEXTS)


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
