namespace Omnivec;

/// <summary>Base type of every error Omnivec raises on purpose: catch this to handle bad input without catching bugs.</summary>
public class OmnivecException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public OmnivecException() { }
    /// <summary>Creates the exception with a message.</summary>
    public OmnivecException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public OmnivecException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>An input (text, image, request item) that cannot be embedded as given.</summary>
public class InvalidInputException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public InvalidInputException() { }
    /// <summary>Creates the exception with a message.</summary>
    public InvalidInputException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public InvalidInputException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A model folder or model configuration that Omnivec cannot use (missing files, unknown settings).</summary>
public class ModelConfigurationException : OmnivecException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ModelConfigurationException() { }
    /// <summary>Creates the exception with a message.</summary>
    public ModelConfigurationException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public ModelConfigurationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Vectors from two different embedding spaces were about to be mixed.</summary>
public sealed class EmbeddingSpaceMismatchException : OmnivecException
{
    /// <summary>Creates the error for a collection of <paramref name="expected"/> offered vectors of <paramref name="actual"/>.</summary>
    public EmbeddingSpaceMismatchException(EmbeddingSpace expected, EmbeddingSpace actual)
        : base($"Embedding spaces differ: the collection holds vectors of {expected}, but the embedder produces {actual}. " +
               "Vectors from different providers, models or model versions are not comparable; use a new collection or the collection's own model.")
    {
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The space the collection (or the first operand) holds.</summary>
    public EmbeddingSpace Expected { get; }
    /// <summary>The space the embedder produces.</summary>
    public EmbeddingSpace Actual { get; }
}
