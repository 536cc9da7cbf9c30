"""The SMS Gateway for Android app (capcom6/android-sms-gateway) as a simrelay device: its
"mobile API" as an adapter onto the same dispatch as the native device protocol."""
