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
    "unlimited": {"ru": "без ограничений", "en": "unlimited"},
    "devices": {"ru": "Устройства", "en": "Devices"},
    "webhooks": {"ru": "Вебхуки", "en": "Webhooks"},
    "disabled_hooks": {
        "ru": "Вебхук отключён simrelay",
        "en": "A webhook was switched off by simrelay",
    },
    "language": {"ru": "English", "en": "Русский"},
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
