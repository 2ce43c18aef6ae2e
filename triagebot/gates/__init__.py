"""Preview -> selected specs -> browser run -> verdict."""
