"""The Telegram edge: updates in, replies out. No clause logic lives here."""
