"""Named failures of use cases; views turn them into 4xx pages."""


class ServiceError(Exception):
    """A request we refuse, with a message fit to show the person."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403
