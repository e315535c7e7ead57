"""Telegram as a transport, through python-telegram-bot 22."""

import os

# PTB 22 is moving time periods from int seconds to timedelta and warns on every 429 until
# told which it should be; our code reads both, so take the future behaviour now.
os.environ.setdefault("PTB_TIMEDELTA", "true")
