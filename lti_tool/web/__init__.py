"""Teacher and student pages: parse the request, call one service, render."""
