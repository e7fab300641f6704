"""Messages nobody asked for: the scheduler, reminders, broadcasts, the outbox sender."""
