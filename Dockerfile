# One image for the four services; each Deployment picks its service with SERVICE.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore::DeprecationWarning
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY shared/ shared/
COPY services/ services/
COPY deploy/nameko.yaml deploy/nameko.yaml
RUN useradd --uid 10001 --no-create-home platform
USER 10001
EXPOSE 8000
CMD ["sh", "-c", "exec nameko run --config deploy/nameko.yaml services.${SERVICE}.service:${SERVICE_CLASS}"]
