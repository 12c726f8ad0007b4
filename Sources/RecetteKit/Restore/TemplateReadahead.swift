import Foundation
import Logging
import RecetteWorld

/// Before a pristine clone: the template's files are advised into the page cache, so the disk
/// reads ahead of the server's copy (`FileReadahead`). Only where this machine can read the
/// server's files (recette's own cluster; a compose db service on the local engine, through the
/// container's root); elsewhere, and on any doubt, the clone simply runs without it.
struct TemplateReadahead {
    var server: any PristineServer
    var template: String
    var logger: Logger

    /// The template's directory as the server names it (`<data_directory>/base/<oid>`), when it
    /// lives in the default tablespace (another tablespace's files are elsewhere).
    static func locationQuery(_ template: String) -> String {
        """
        SELECT current_setting('data_directory') || '/base/' || d.oid FROM pg_database d
        JOIN pg_tablespace t ON t.oid = d.dattablespace
        WHERE d.datname = \(PostgresConnection.quoteLiteral(template)) AND t.spcname = 'pg_default'
        """
    }

    func start(on session: SQLSession) async {
        // Reading data_directory needs a superuser or pg_read_all_settings: without, no advice.
        guard let rows = try? await session.query(Self.locationQuery(template)), let serverPath = rows.first?.first ?? nil,
              let path = await server.pathOnThisMachine(serverPath: serverPath) else {
            logger.debug("the template's files are not readable from this machine: cloned without reading ahead")
            return
        }
        guard let advised = FileReadahead.advise(directory: path), advised.files > 0 else {
            logger.debug("no file to read ahead in \(path)")
            return
        }
        logger.info("reading the template's files ahead: \(advised.files) files, \(ByteCount.human(advised.bytes))")
    }
}
