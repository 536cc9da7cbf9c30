"""What each release of the SMSGate app can do, by its version (capcom6/android-sms-gateway;
each threshold cites the first release tag that has the behaviour).

The app names its version in every request's User-Agent, `me.capcom.smsgateway/1.68.0`
(v1.2.0+: app/.../modules/gateway/GatewayApi.kt, `install(UserAgent)`; release builds take
the tag without its "v": .github/workflows/build-apk.yml). Its event stream is the exception:
SSEManager.kt uses OkHttp's own agent, so only the other calls tell the version.
"""

from __future__ import annotations

from dataclasses import dataclass

USER_AGENT_PREFIX = "me.capcom.smsgateway/"

Version = tuple[int, int, int]

MINIMUM: Version = (1, 37, 0)
"""The oldest release simrelay supports: it reads /settings (v1.37.0: GatewayApi.kt#L119-L123),
so it learns the ping interval that makes it fetch, and the key it signs its webhooks with
(signing: v1.33.0, modules/webhooks/plugins/PayloadSingingPlugin.kt). Sign-in with a code
needs v1.34.0 (dialog_first_start.xml, tab "By Code")."""
CANCELS: Version = (1, 67, 0)
"""Reads a fetched message's `state` and cancels a Cancelling one it still has Pending, and
handles the MessageCancelled event (v1.67.0: GatewayService.kt#L240-L274, EventsRouter.kt#L46-L48).
Before, `state` is not read at all: a Cancelling item it does not hold is sent as new work."""
SSE_ONLY: Version = (1, 53, 0)
"""Has the `gateway.notification_channel` setting, so simrelay can make it keep an event stream
even on a phone with Google services (v1.53.0: GatewaySettings.kt#L11-L14). From v1.43.0 it
opens one only when it has no Firebase token; before, it learns of work only by polling."""
SSE: Version = (1, 43, 0)
NUMBERS_AS_TEXT_BEFORE: Version = (1, 51, 2)
"""Before v1.51.2 `limit_value`, `log_lifetime_days` and `webhooks.retry_count` are read with
`toString().toInt()` (v1.37.0: MessagesSettings.kt#L115, WebhooksSettings.kt#L44): a JSON
number arrives as a Gson Double ("15.0") and fails the whole import."""
STABLE_MESSAGE_IDS: Version = (1, 66, 2)
"""From v1.66.2 a received SMS's `messageId` hashes its date too (InboxMessage.kt#L87-L92):
before, two equal texts from one sender share one id."""


def parse(text: str) -> Version | None:
    """ "1.68.0" (or "1.68", "1.68.0-rc1") as a tuple; None for anything else (a development
    build says "1.0.0", a pull-request build a commit hash)."""
    parts = text.strip().split("-", 1)[0].split(".")
    if not 2 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        return None
    major, minor, patch = (int(part) for part in (*parts, "0")[:3])
    return major, minor, patch


def from_user_agent(user_agent: str) -> str:
    """The version the User-Agent names, as written ("" if it is not the app's)."""
    if not user_agent.startswith(USER_AGENT_PREFIX):
        return ""
    return user_agent[len(USER_AGENT_PREFIX) :].split(" ", 1)[0][:32]


@dataclass(frozen=True, slots=True)
class Abilities:
    """What simrelay may count on from one app version. An unknown version (a development
    build) is taken to be a current release."""

    version: Version | None

    def _at_least(self, threshold: Version) -> bool:
        return self.version is None or self.version >= threshold

    @property
    def supported(self) -> bool:
        return self._at_least(MINIMUM)

    @property
    def cancels(self) -> bool:
        return self._at_least(CANCELS)

    @property
    def sse_only(self) -> bool:
        return self._at_least(SSE_ONLY)

    @property
    def numbers_as_text(self) -> bool:
        """See NUMBERS_AS_TEXT_BEFORE."""
        return not self._at_least(NUMBERS_AS_TEXT_BEFORE)

    @property
    def stable_message_ids(self) -> bool:
        return self._at_least(STABLE_MESSAGE_IDS)

    def warning(self) -> str:
        """What the account should be told about this version, as a key of the panel's texts:
        "app_unsupported", "app_cannot_cancel", or "" when nothing."""
        if not self.supported:
            return "app_unsupported"
        if not self.cancels:
            return "app_cannot_cancel"
        return ""


def abilities(version_text: str) -> Abilities:
    return Abilities(parse(version_text))


def shown(version: Version) -> str:
    return ".".join(str(part) for part in version)
