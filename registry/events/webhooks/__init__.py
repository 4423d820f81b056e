"""Webhook and trigger machinery: definitions as journal records, the outbox, payloads, transport and delivery.
The public face is `registry.webhooks`; the client's webhook methods are `registry.client.webhooks`."""
