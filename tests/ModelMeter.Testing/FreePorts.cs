using System.Net;
using System.Net.Sockets;

namespace ModelMeter.Testing;

/// <summary>Loopback ports nobody listens on now, for the servers a test starts itself.</summary>
public static class FreePorts
{
    /// <summary>A port the system just handed out and took back.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
