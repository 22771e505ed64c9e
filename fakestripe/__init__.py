"""A small stateful stand-in for Stripe's PaymentIntents API and its webhooks (the lab has no
internet). The real ``stripe`` SDK talks to it through ``STRIPE_API_BASE``; see server.py."""
