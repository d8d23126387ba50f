namespace Omnivec;

/// <summary>Base type of every error Omnivec raises on purpose: catch this to handle bad input without catching bugs.</summary>
public class OmnivecException : Exception
{
    public OmnivecException() { }
    public OmnivecException(string message) : base(message) { }
    public OmnivecException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>An input (text, image, request item) that cannot be embedded as given.</summary>
public class InvalidInputException : OmnivecException
{
    public InvalidInputException() { }
    public InvalidInputException(string message) : base(message) { }
    public InvalidInputException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A model folder or model configuration that Omnivec cannot use (missing files, unknown settings).</summary>
public class ModelConfigurationException : OmnivecException
{
    public ModelConfigurationException() { }
    public ModelConfigurationException(string message) : base(message) { }
    public ModelConfigurationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Vectors from two different embedding spaces were about to be mixed.</summary>
public sealed class EmbeddingSpaceMismatchException : OmnivecException
{
    public EmbeddingSpaceMismatchException(EmbeddingSpace expected, EmbeddingSpace actual)
        : base($"Embedding spaces differ: the collection holds vectors of {expected}, but the embedder produces {actual}. " +
               "Vectors from different providers, models or model versions are not comparable; use a new collection or the collection's own model.")
    {
        Expected = expected;
        Actual = actual;
    }

    public EmbeddingSpace Expected { get; }
    public EmbeddingSpace Actual { get; }
}
