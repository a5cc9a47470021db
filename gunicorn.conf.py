"""gunicorn settings read from the working directory (the image's and `bench load`'s).

Each worker loads the embedding model and every index in the background as soon as it starts,
so the first people to ask for proposals or search do not wait seconds for it
(market.services.indexing.start_warming; MARKET_WARM_INDEXES=false turns it off)."""


def post_worker_init(worker):
    from market.services.indexing import start_warming

    start_warming(worker.wsgi)
