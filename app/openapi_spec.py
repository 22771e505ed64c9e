def spec(): return {"openapi": "3.1.0", "info": {"title": "Shoplab", "version": "0.1.0"}, "paths": {}}
