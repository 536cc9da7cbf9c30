"""Released versions of the SMSGate app (capcom6/android-sms-gateway) and what each does
differently, as the emulator plays them. Every threshold names the first release tag that has
the behaviour and where to read it (P = app/src/main/java/me/capcom/smsgateway)."""

from __future__ import annotations

from dataclasses import dataclass

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Profile:
    version: Version

    @property
    def name(self) -> str:
        return ".".join(str(part) for part in self.version)

    @property
    def user_agent(self) -> str:
        """`me.capcom.smsgateway/<VERSION_NAME>` on every API call (v1.2.0+: P/modules/gateway/
        GatewayApi.kt#L37-L39); release builds name the tag without its "v"."""
        return f"me.capcom.smsgateway/{self.name}"

    def _since(self, *version: int) -> bool:
        return self.version >= version

    @property
    def signs_in_with_code(self) -> bool:
        """`Authorization: Code <digits>` from the "By Code" tab of the first-start dialog, whose
        field takes digits only (v1.34.0: res/layout/dialog_first_start.xml#L123, GatewayApi.kt#L71)."""
        return self._since(1, 34, 0)

    @property
    def reads_settings(self) -> bool:
        """GET /settings at start and on SettingsUpdated (v1.37.0: GatewayApi.kt#L119-L123)."""
        return self._since(1, 37, 0)

    @property
    def has_sse(self) -> bool:
        """An event stream, opened only when it has no Firebase token (v1.43.0:
        P/modules/gateway/EventsReceiver.kt#L85-L95)."""
        return self._since(1, 43, 0)

    @property
    def sends_order(self) -> bool:
        """GET /message?order=lifo|fifo (v1.46.0: GatewayApi.kt#L88-L89)."""
        return self._since(1, 46, 0)

    @property
    def reads_numbers_loosely(self) -> bool:
        """limit_value and retry_count through toFloat().toInt(); before, toInt() on the text of
        a Gson Double ("4.0") fails the whole import (v1.51.2: MessagesSettings.kt#L150)."""
        return self._since(1, 51, 2)

    @property
    def has_sse_only(self) -> bool:
        """`gateway.notification_channel` SSE_ONLY, and PATCH /device even without a push token
        (v1.53.0: GatewaySettings.kt#L11-L14, GatewayService.kt#L159-L171)."""
        return self._since(1, 53, 0)

    @property
    def pulls_on_sse_connect(self) -> bool:
        """v1.53.1: SSEForegroundService.kt#L51-L63."""
        return self._since(1, 53, 1)

    @property
    def names_sender(self) -> bool:
        """sms:received carries `sender` (v1.54.0: modules/webhooks/payload/MessageEventPayload.kt)."""
        return self._since(1, 54, 0)

    @property
    def sends_sims(self) -> bool:
        """simCards in POST and PATCH /device (v1.65.0: GatewayApi.kt#L145,L158)."""
        return self._since(1, 65, 0)

    @property
    def cancels(self) -> bool:
        """Reads a fetched message's `state`: Cancelling cancels one still Pending, an unknown one
        is PATCHed Cancelled; MessageCancelled events (v1.67.0: GatewayService.kt#L240-L274,
        EventsRouter.kt#L46-L48). Before, `state` is not read: every new id is sent."""
        return self._since(1, 67, 0)


PROFILES = {
    "1.33": Profile((1, 33, 0)),
    "1.37": Profile((1, 37, 0)),
    "1.53": Profile((1, 53, 1)),
    "1.66": Profile((1, 66, 2)),
    "1.68": Profile((1, 68, 0)),
}
LATEST = PROFILES["1.68"]
