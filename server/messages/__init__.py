"""Messages that arrive: e-mail, SMS and staff calendar writes, through one outbox.

A change writes its messages in its own transaction (changes.py, the booking service's hook);
a worker on every node claims them one at a time and delivers them (worker.py, delivery.py,
mail.py, sms.py), recording each attempt by the pure machine of model.py. What a message says
is texts.py (pure, B1 Dutch with English). See docs/messages.md.
"""
