"""Inbound HTTP: thin routes that verify, parse, call one service function and answer."""
