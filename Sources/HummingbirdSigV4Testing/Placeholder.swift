// HummingbirdSigV4Testing: signed test requests for app.test, lands with the middleware.
