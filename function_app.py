"""The Azure Functions app: one DFApp, every blueprint registered, nothing else."""

import azure.durable_functions as df
import azure.functions as func

from blueprints import classify, feedback, health, openapi, tenant, trends, video_pipeline, videos
from services import telemetry

telemetry.configure("classroom-functions")  # Azure Monitor, OTLP or nothing, from the app settings

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(classify.bp)
app.register_functions(health.bp)
app.register_functions(openapi.bp)
app.register_functions(videos.bp)
app.register_functions(feedback.bp)
app.register_functions(tenant.bp)
app.register_functions(trends.bp)
app.register_functions(video_pipeline.bp)
