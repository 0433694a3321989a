"""Requests that change something are applied once, however often they arrive.

A member's "yes" can reach the records API twice: the action server retries after a timeout,
a replica dies after the write but before it answers, a kept request is replayed after the API
came back from an outage it in fact survived. A caller that sends an `Idempotency-Key` header
gets the first answer again for a repeat, and the change is made once (see `middleware`).
"""
