"""The report people read: fleet, network proof, findings, change and live state, gathered as
typed data (``service``) and rendered as one self-contained HTML page (``render``) or JSON."""
