"""DRF's token authentication, loading the customer profile with the user and the token."""

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """One query for token, user and customer: every customer command reads `user.customer`
    next, which was a second query per request. (A staff user has no customer: the join
    finds none and `user.customer` raises as before.)"""

    def authenticate_credentials(self, key):
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "user__customer").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token
