package verify_test

import _ "golang.org/x/crypto/bcrypt" // keeps go.sum complete until the bcrypt verifier lands
