"""The Pipeline's stages, each a callable (Frame, StageContext) -> Frame with declared spaces."""
