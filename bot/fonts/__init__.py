"""Be Vietnam Pro (SIL Open Font License 1.1, see OFL.txt): the chart font, which covers
Vietnamese."""
