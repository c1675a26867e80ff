"""Launches in browsers that block third-party cookies, beside platform storage (platform_storage.py).

- The state cookie is Partitioned (CHIPS) whenever it is SameSite=None; Secure, so Chromium keeps it inside the
  LMS frame even with third-party cookies blocked (Safari does not, hence the rest).
- A framed launch whose state cookie did not come back, from a platform without storage (Moodle), is offered a
  new window where the OIDC login starts again first-party with the parameters kept here (launch.NewWindowNeeded),
  instead of being told it came from another browser.
"""

from __future__ import annotations

from pylti1p3.contrib.flask.cookie import FlaskCookieService

# The OIDC login initiation parameters (Security Framework §5.1.1.1) kept with the state only to restart it
# elsewhere; the state keeps issuer, client id, target and deployment anyway (launch.relogin_params).
RELOGIN_PARAMS = ("login_hint", "lti_message_hint")


class PartitionedCookieService(FlaskCookieService):
    """pylti1p3's state cookie, Partitioned (CHIPS) whenever it is SameSite=None; Secure.

    Chromium blocks unpartitioned third-party cookies in incognito and by user choice (and Safari always does);
    a partitioned cookie is kept per top-level site, which is all the login needs: it comes back to the launch
    inside the same LMS page. https://developer.mozilla.org/en-US/docs/Web/Privacy/Guides/Privacy_sandbox/Partitioned_cookies
    """

    def __init__(self, request, lifetime: int | None = None) -> None:
        super().__init__(request)
        self._lifetime = lifetime

    def set_cookie(self, name, value, exp=3600):
        # pylti1p3 gives the state cookie five minutes whatever the state's own lifetime (LOGIN_STATE_SECONDS):
        # a launch after that, its state still good, was taken for one from another browser.
        super().set_cookie(name, value, self._lifetime or exp)

    def update_response(self, response):
        secure = self._request.is_secure()
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(key=key, value=data["value"], max_age=data["exp"], path="/", httponly=True,
                                secure=secure, samesite="None" if secure else None, partitioned=secure)
