from .trainingmonitor import TrainingMonitor

__all__ = ["TrainingMonitor"]
