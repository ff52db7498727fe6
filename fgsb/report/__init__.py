"""Self-contained HTML reports of a synthesis (docs/usage.md, "The report")."""
from .panels import Panel
from .synthesis_report import report_html, synthesis_panels, synthesis_report

__all__ = ['Panel', 'report_html', 'synthesis_panels', 'synthesis_report']
