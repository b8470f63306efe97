"""Errors that end a task with one clear sentence instead of a stack trace."""

from __future__ import annotations


class MaturityError(Exception):
    """Base class: the message is meant for the person running the pipeline."""


class ConfigError(MaturityError):
    """The configuration (environment, Airflow Variables, key file) is incomplete or wrong."""


class LandingError(MaturityError):
    """A landed file cannot be used at all; nothing from its snapshot is loaded.

    The message always starts with the file (relative to the landing area) so the
    data engineer knows which drop to fix.
    """

    def __init__(self, file: str, problem: str) -> None:
        self.file = file
        self.problem = problem.rstrip(".")
        super().__init__(f"{file}: {self.problem}.")
