"""Background work: the outbox worker that posts grades to the LMS, and its retry policy."""
