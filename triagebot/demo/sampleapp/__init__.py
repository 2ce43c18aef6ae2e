"""Tiny Shop: a bundled sample web app with a real bug, in a buggy and a fixed build."""

from triagebot.demo.sampleapp.server import (
    SETUP_PATH,
    AppState,
    SampleApp,
    serve_sample_app,
    verify_setup_request,
)

__all__ = ["SETUP_PATH", "AppState", "SampleApp", "serve_sample_app", "verify_setup_request"]
