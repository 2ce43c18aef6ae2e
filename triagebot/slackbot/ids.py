"""Action and view ids shared by the Block Kit builders and the Bolt listeners."""

CREATE_TEST = "triagebot_create_test"
ASSIGN_ME = "triagebot_assign_me"
RESOLVE = "triagebot_resolve"
WONT_TEST = "triagebot_wont_test"
ROLLBACK_FLAG = "triagebot_rollback_flag"
OPEN_SENTRY = "triagebot_open_sentry"
WONT_TEST_VIEW = "triagebot_wont_test_view"
