"""duban's own errors: one base class, translated at one boundary (the CLI, the workflow)."""


class DubanError(Exception):
    """A refusal with a one-line reason meant for the person who asked."""
