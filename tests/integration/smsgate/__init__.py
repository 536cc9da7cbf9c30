"""An emulator of the SMS Gateway for Android app (capcom6/android-sms-gateway, released tags)
as it talks to a private server, one profile per release (_profile.py): what it sends and how
it reacts, each behaviour citing the app's source as `tag:path#lines` so that a reader can
check it. Every file it names is under app/src/main/java/me/capcom/smsgateway unless it says
otherwise, at v1.68.0 unless a profile's threshold says which tag."""

from tests.integration.smsgate._app import Local, Options, SmsGateApp, app_date
from tests.integration.smsgate._profile import LATEST, PROFILES, Profile

__all__ = ["LATEST", "PROFILES", "Local", "Options", "Profile", "SmsGateApp", "app_date"]
