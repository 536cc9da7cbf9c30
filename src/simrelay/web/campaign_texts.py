"""The panel's words for campaigns and the per-SIM chart (i18n.py adds them to its TEXTS)."""

from __future__ import annotations

CAMPAIGN_TEXTS: dict[str, dict[str, str]] = {
    "campaigns": {"ru": "Рассылки", "en": "Campaigns"},
    "campaign_none": {"ru": "Рассылок пока нет.", "en": "No campaigns yet."},
    "campaign_new": {"ru": "Новая рассылка из CSV-файла", "en": "New campaign from a CSV file"},
    "csv_file": {"ru": "CSV-файл", "en": "CSV file"},
    "csv_hint": {
        "ru": "UTF-8, первая строка — заголовки; столбец phone_number (или phone) — номер, каждый "
        "другой столбец — переменная шаблона: {имя_столбца}.",
        "en": "UTF-8, a header row first; the phone_number (or phone) column is the number, every "
        "other column a variable of the template: {column_name}.",
    },
    "template": {"ru": "Шаблон сообщения", "en": "Message template"},
    "template_hint": {
        "ru": "{имя} заменяется ячейкой получателя; {{ и }} — фигурные скобки.",
        "en": "{name} is replaced by the recipient's cell; {{ and }} write a brace.",
    },
    "device_any": {"ru": "любое устройство", "en": "any device"},
    "preview": {"ru": "Предпросмотр", "en": "Preview"},
    "recipients": {"ru": "Получателей", "en": "Recipients"},
    "will_send": {"ru": "Будет отправлено", "en": "Will be sent"},
    "accepted": {"ru": "Принято", "en": "Accepted"},
    "rejected": {"ru": "Отклонено", "en": "Rejected"},
    "line": {"ru": "Строка", "en": "Line"},
    "not_shown": {"ru": "Не показано", "en": "Not shown"},
    "examples": {"ru": "Первые сообщения", "en": "First messages"},
    "nothing_stored": {
        "ru": "Пока ничего не сохранено: рассылка начнётся после «Запустить рассылку».",
        "en": "Nothing is stored yet: the campaign starts with “Send the campaign”.",
    },
    "send_campaign": {"ru": "Запустить рассылку", "en": "Send the campaign"},
    "campaign_sent": {"ru": "Рассылка запущена", "en": "The campaign is on its way"},
    "campaign_running": {"ru": "идёт", "en": "running"},
    "campaign_paused": {"ru": "приостановлена", "en": "paused"},
    "campaign_cancelled": {"ru": "отменена", "en": "cancelled"},
    "campaign_done": {"ru": "завершена", "en": "done"},
    "pause": {"ru": "Приостановить", "en": "Pause"},
    "resume": {"ru": "Продолжить", "en": "Resume"},
    "cancel_campaign": {"ru": "Отменить", "en": "Cancel"},
    "count_waiting": {"ru": "ждут", "en": "waiting"},
    "count_taken": {"ru": "взяты", "en": "taken"},
    "count_sent": {"ru": "отправлены", "en": "sent"},
    "count_failed": {"ru": "ошибка отправки", "en": "failed"},
    "count_delivered": {"ru": "доставлены", "en": "delivered"},
    "count_not_delivered": {"ru": "не доставлены", "en": "not delivered"},
    "upload_no_file": {"ru": "Выберите CSV-файл", "en": "Choose a CSV file"},
    "upload_too_large": {
        "ru": "Файл слишком большой; предел, байт:",
        "en": "The file is too large; the limit in bytes:",
    },
    "upload_not_utf8": {
        "ru": "Файл не в кодировке UTF-8: сохраните его как «CSV UTF-8»",
        "en": "The file is not UTF-8 text: save it as “CSV UTF-8”",
    },
    "upload_empty": {
        "ru": "В файле нет получателей: нужны строка заголовков и хотя бы одна строка",
        "en": "The file has no recipients: a header row and at least one row are needed",
    },
    "upload_no_phone_column": {
        "ru": "В строке заголовков нет столбца phone_number (или phone)",
        "en": "The header row has no phone_number (or phone) column",
    },
    "upload_too_many_rows": {
        "ru": "Больше 10 000 получателей: разделите файл",
        "en": "More than 10,000 recipients: split the file",
    },
    "upload_bad_csv": {
        "ru": "Файл не читается как CSV (незакрытая кавычка?)",
        "en": "The file is not valid CSV (a quote left open?)",
    },
    "per_sim": {
        "ru": "SMS, взятые устройствами, по SIM и дням, 30 дней",
        "en": "SMS taken by devices, per SIM and day, 30 days",
    },
    "per_sim_none": {
        "ru": "За 30 дней устройства не брали SMS.",
        "en": "No device has taken an SMS in 30 days.",
    },
}
