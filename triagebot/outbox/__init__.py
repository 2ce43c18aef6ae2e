"""Durable, ordered, retried delivery of every outbound side effect."""
