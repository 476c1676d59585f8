from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "doxie.surveys"
    label = "surveys"

    def ready(self) -> None:
        """Surveys' hooks: P7 for survey processes, the survey definitions of
        ``apply_config`` (after the events they belong to) and the process view's
        ``survey``."""
        from doxie.processes.models import ProcessKind
        from doxie.processes.registry import registry
        from doxie.surveys import config, selectors, services

        registry.register_canceller(
            ProcessKind.SURVEY, services.cancel_survey_process, app=self.label
        )
        registry.register_config_section(
            config.SECTION, validate=config.validate, apply=config.apply, app=self.label,
            after=("events",), inside=("events",),
        )
        registry.register_describer(
            "survey", selectors.describe_process_survey, app=self.label,
            kinds=(ProcessKind.SURVEY,),
        )
