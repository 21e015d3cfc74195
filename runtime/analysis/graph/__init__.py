"""An interview's knowledge graph: concepts and entities, how they co-occur, how they rank."""
