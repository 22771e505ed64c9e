# The shop (app/, sql/, fakestripe/): the local stack and the app's tests on real services.
# test-app needs `collections` (mk/roles.mk): its Redis-over-TLS tests make a CA with ansible/lab-ca.yml.
.PHONY: run stop status test-app
TEST_TARGETS += test-app

run: ## start the whole shop on loopback (nginx -> gunicorn -> pgbouncer -> postgres, redis, fake Stripe) at http://127.0.0.1:8080
	tools/install-deps.sh services
	$(PY) tools/devstack.py up

stop: ## stop what `make run` started
	$(PY) tools/devstack.py down

status: ## which `make run` services are up
	$(PY) tools/devstack.py status

test-app: collections ## the app's tests against real PostgreSQL, pgbouncer, Redis, nginx (a few minutes)
	tools/install-deps.sh services
	$(PY) -m pytest -q -p no:cacheprovider tests/app
