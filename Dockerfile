# One image for every service; the Deployment's args pick which one runs (`python -m members`, ...).
# The embedded development servers (the `devservers` extra) are not installed here.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY services services
COPY gateway gateway
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home crm
COPY --from=build /install /usr/local
USER 10001
ENV PYTHONUNBUFFERED=1
CMD ["python", "-m", "gateway"]
