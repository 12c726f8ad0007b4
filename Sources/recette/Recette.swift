import Foundation
import RecetteCommands
import RecetteWorld

/// The executable: the commands live in RecetteCommands, which the tests run in-process.
@main
enum Main {
    static func main() async {
        MemoryPolicy.returnLargeBlocksToTheSystem()
        InterruptHandler.ignoreBrokenPipes()
        exit(await Recette.run(arguments: nil))
    }
}
