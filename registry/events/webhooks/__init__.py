"""Webhook and trigger machinery: definitions as journal records, the outbox, payloads, transport and delivery.
The public face is :mod:`registry.webhooks`; the client's webhook methods are :mod:`registry.client.webhooks`."""
