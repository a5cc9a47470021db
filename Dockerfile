# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-wqy-zenhei curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY market ./market
COPY models ./models
COPY workers ./workers
# Pass TORCH_PIP_ARGS (e.g. an --index-url of PyTorch's CPU wheels) to avoid the large CUDA build.
ARG TORCH_PIP_ARGS=""
RUN pip install $TORCH_PIP_ARGS "torch==2.13.0" && pip install ".[prod]"
COPY . .
RUN useradd --create-home scenebridge && mkdir -p /data && chown scenebridge /data
USER scenebridge
ENV MARKET_INDEX_DIR=/data/index MARKET_MODEL_DIR=/data/models
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "120", "market:create_app()"]
