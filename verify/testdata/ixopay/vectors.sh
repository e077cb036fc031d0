#!/bin/sh
# Recomputes vectors.txt with openssl alone (independent of the Go code).
# Run from this directory: sh vectors.sh > vectors.txt
set -eu
CT='application/json; charset=utf-8'

# vector NAME SECRET DIGEST(sha512|md5) BODYFILE DATE URI
vector() {
	name=$1 secret=$2 digest=$3 body=$4 date=$5 uri=$6
	bodyhash=$(openssl dgst -"$digest" -r "$body" | cut -d' ' -f1)
	sig=$(printf 'POST\n%s\n%s\n%s\n%s' "$bodyhash" "$CT" "$date" "$uri" |
		openssl dgst -sha512 -mac HMAC -macopt "key:$secret" -binary | openssl base64 -A)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secret" "$digest" "$body" "$date" "$uri" "$sig"
}

# IXOPAY's published vector (empty secret, empty body): openssl refuses an
# empty HMAC key, so its signature is copied from the documentation; the
# README shows the python3 command that recomputes it.
printf 'published\t\tsha512\tempty.body\t%s\t%s\t%s\n' 'Tue, 28 Apr 2026 15:23:40 GMT' \
	/api/v3/transaction/YOUR-API-KEY-HERE/debit \
	'4ICq+hfHFA81dAJHcXoP2/Pb+nkp9GljLe2S+REN0vMBhbQYNQUHIw/YxUTEIWS5Uu5WgdDEc7keMtqS0mpnAA=='
vector secret-query-sha512 's3cr3t-ixopay-test' sha512 body.json 'Tue, 28 Apr 2026 15:23:40 GMT' '/callbacks/ixopay?shop=42&order=A-1001'
vector secret-query-md5 's3cr3t-ixopay-test' md5 body.json 'Tue, 28 Apr 2026 15:23:40 GMT' '/callbacks/ixopay?shop=42&order=A-1001'
vector rotated-secret-x-date 'new-secret-2026' sha512 body.json 'Wed, 29 Apr 2026 08:00:00 GMT' '/callbacks/ixopay'
